"""Who may publish or subscribe where: the broker rules, as code and as Mosquitto dynsec roles.

A station (identity = its station id, the certificate's CN) may publish only its
own ``events`` and ``state`` and read only its own ``receipts`` and ``config``, under
its own unit (the generated ACL names each station with its unit).
Hub clients (``hub:<name>``) may read and write the whole Puente tree.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from enum import Enum

from protos.topics import PREFIX, TopicError, check_id
from provisioning.registry import SERVICE_PREFIX


class Access(Enum):
    PUBLISH = "publish"
    SUBSCRIBE = "subscribe"


STATION_PUBLISH = ("events", "state")
STATION_SUBSCRIBE = ("receipts", "config")


def _matches(filter_: str, topic: str) -> bool:
    f, t = filter_.split("/"), topic.split("/")
    for i, level in enumerate(f):
        if level == "#":
            return True
        if i >= len(t) or (level != "+" and level != t[i]):
            return False
    return len(f) == len(t)


UnitOf = Callable[[str], str | None] | Mapping[str, str]


def allowed(
    identity: str | None, access: Access, topic: str, unit_of: UnitOf | None = None
) -> bool:
    """The same decision the generated Mosquitto ACL makes (tests check both agree).

    ``unit_of`` (station id → its unit) fixes the unit level as the generated ACL does; a
    station it does not know gets nothing. Without it the unit level is not checked.
    """
    if not identity:
        return False
    if identity.startswith(SERVICE_PREFIX):
        return _matches(f"{PREFIX}/#", topic) or topic.startswith(f"$share/hub/{PREFIX}/")
    try:
        check_id("station", identity)
    except TopicError:
        return False
    if "#" in topic or "+" in topic:
        return False  # a station never subscribes with wildcards
    unit = "+"
    if unit_of is not None:
        found = unit_of.get(identity) if isinstance(unit_of, Mapping) else unit_of(identity)
        if not found:
            return False
        unit = found
    leaves = STATION_PUBLISH if access is Access.PUBLISH else STATION_SUBSCRIBE
    return any(_matches(f"{PREFIX}/{unit}/{identity}/{leaf}", topic) for leaf in leaves)


# -- Mosquitto dynamic-security plugin -------------------------------------------------------
# Mosquitto 2.0's `acl_file` cannot refuse a SUBSCRIBE (it grants every one and filters each
# delivery): a station subscribing to `$share/hub/...` took a share of every station's events,
# which the read ACL then dropped. The dynamic-security plugin checks SUBSCRIBE itself
# (refused with SUBACK 0x80), and can cut an open session (`disableClient`).

HUB_ROLE = "puente-hub"
DYNSEC_CONTROL = "$CONTROL/dynamic-security/v1"


def station_role(station_id: str) -> str:
    return f"station:{station_id}"


def _acl(acltype: str, topic: str) -> dict[str, object]:
    return {"acltype": acltype, "topic": topic, "priority": 0, "allow": True}


def hub_acls() -> list[dict[str, object]]:
    """The hub: the whole Puente tree, the shared subscription, and the plugin's control topic."""
    return [
        _acl("publishClientSend", f"{PREFIX}/#"),
        _acl("publishClientReceive", f"{PREFIX}/#"),
        _acl("subscribePattern", f"{PREFIX}/#"),
        _acl("subscribePattern", f"$share/hub/{PREFIX}/#"),
        _acl("publishClientSend", f"{DYNSEC_CONTROL}"),
        _acl("publishClientReceive", f"{DYNSEC_CONTROL}/response"),
        _acl("subscribeLiteral", f"{DYNSEC_CONTROL}/response"),
    ]


def station_acls(station_id: str, unit_id: str) -> list[dict[str, object]]:
    """A station: literal topics only (no wildcard, no `$share`), its unit fixed."""
    check_id("station", station_id)
    check_id("unit", unit_id)
    base = f"{PREFIX}/{unit_id}/{station_id}"
    return [
        *(_acl("publishClientSend", f"{base}/{leaf}") for leaf in STATION_PUBLISH),
        *(_acl("subscribeLiteral", f"{base}/{leaf}") for leaf in STATION_SUBSCRIBE),
        *(_acl("publishClientReceive", f"{base}/{leaf}") for leaf in STATION_SUBSCRIBE),
    ]


# Everything not granted by a role is refused; unsubscribing is harmless.
DEFAULT_ACL_ACCESS = {
    "publishClientSend": False,
    "publishClientReceive": False,
    "subscribe": False,
    "unsubscribe": True,
}


def dynsec_config(hub_identities: Iterable[str], stations: Mapping[str, str]) -> dict[str, object]:
    """The plugin's initial JSON (``plugin_opt_config_file``): hub users, one role and one
    client per station allowed on the broker (``stations``: station id → unit). A client name
    is the certificate CN (``use_identity_as_username``); no passwords: mTLS authenticates.
    A CN the file does not name gets nothing."""
    hubs = sorted(set(hub_identities))
    return {
        "defaultACLAccess": dict(DEFAULT_ACL_ACCESS),
        "clients": [
            *({"username": h, "roles": [{"rolename": HUB_ROLE}]} for h in hubs),
            *({"username": s, "roles": [{"rolename": station_role(s)}]} for s in sorted(stations)),
        ],
        "groups": [],
        "roles": [
            {"rolename": HUB_ROLE, "acls": hub_acls()},
            *(
                {"rolename": station_role(s), "acls": station_acls(s, u)}
                for s, u in sorted(stations.items())
            ),
        ],
    }


def dynsec_commands(
    hub_identities: Iterable[str],
    stations: Mapping[str, str],
    present: Iterable[str] = (),
    cut: Iterable[str] = (),
) -> list[dict[str, object]]:
    """Commands that bring a running broker to ``stations`` (idempotent: "already exists" /
    "not found" answers are expected). ``present``: client names the broker has now (from
    ``listClients``); those neither hub nor wanted station are deleted, which closes their
    sessions, and wanted ones missing are made (role first). ``cut``: stations whose open
    sessions must end now (re-enrolled or retired): deleted, then made again if still wanted,
    so the old certificate's session is closed at once."""
    hubs, cut, present = set(hub_identities), set(cut), set(present)
    acls = [{"acltype": k, "allow": v} for k, v in DEFAULT_ACL_ACCESS.items()]
    commands: list[dict[str, object]] = [
        {"command": "setDefaultACLAccess", "acls": acls},
        {"command": "createRole", "rolename": HUB_ROLE, "acls": hub_acls()},
    ]
    for h in sorted(hubs - present):
        commands.append(
            {"command": "createClient", "username": h, "roles": [{"rolename": HUB_ROLE}]}
        )
    gone = sorted(((present - set(stations)) | cut) - hubs)
    for name in gone:
        commands.append({"command": "deleteClient", "username": name})
        commands.append({"command": "deleteRole", "rolename": station_role(name)})
    for s, u in sorted(stations.items()):
        if s in present and s not in cut:
            continue  # made by an earlier sync (its role with it)
        role = station_role(s)
        commands.append({"command": "createRole", "rolename": role, "acls": station_acls(s, u)})
        commands.append({"command": "createClient", "username": s, "roles": [{"rolename": role}]})
    return commands


EXPECTED_ERRORS = ("already exists", "not found")
