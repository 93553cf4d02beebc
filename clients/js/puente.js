// Puente browser client: lets a web app use the station's devices through the local agent.
// An ES module with no dependencies and no build step:
//   import { PuenteAgent } from "/path/to/puente.js";
// Types are in puente.d.ts beside this file.

const DEFAULT_URL = "http://127.0.0.1:8460";
const TOKEN_KEY = "puente.pairingToken";

/** An error the agent answered with (RFC 9457 problem details), or a network failure. */
export class PuenteError extends Error {
  constructor(status, code, title, detail, body) {
    super(detail || title || code);
    this.name = "PuenteError";
    this.status = status;
    this.code = code;
    this.title = title;
    this.detail = detail;
    this.body = body;
  }
}

/** The agent is not running, not reachable, or the browser blocked local access. */
export class AgentUnreachable extends PuenteError {
  constructor(cause) {
    super(0, "agent_unreachable", "Agent unreachable / Agente no disponible",
      "the Puente agent on this PC did not answer / el agente Puente de esta PC no respondió");
    this.name = "AgentUnreachable";
    this.cause = cause;
  }
}

/** This site must pair with the agent (or its pairing was revoked). */
export class NotPaired extends PuenteError {
  constructor(status, code, title, detail, body) {
    super(status, code, title, detail, body);
    this.name = "NotPaired";
  }
}

/** The outbox of the station is full: the agent refused to record more. */
export class OutboxFull extends PuenteError {
  constructor(status, code, title, detail, body) {
    super(status, code, title, detail, body);
    this.name = "OutboxFull";
  }
}

const ERROR_CLASSES = {
  origin_not_allowed: NotPaired,
  pairing_token_invalid: NotPaired,
  outbox_full: OutboxFull,
};

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export class PuenteAgent {
  /**
   * @param {{url?: string, token?: string|null, storage?: Storage|null}} [options]
   */
  constructor(options = {}) {
    this.url = (options.url || DEFAULT_URL).replace(/\/$/, "");
    this.storage = options.storage === undefined ? globalThis.localStorage ?? null : options.storage;
    this.token = options.token ?? this.storage?.getItem(TOKEN_KEY) ?? null;
  }

  /** Low-level call: JSON in, JSON out, errors as typed exceptions. */
  async request(method, path, body) {
    const headers = { Accept: "application/json" };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    if (this.token) headers["X-Puente-Token"] = this.token;
    let response;
    try {
      response = await fetch(this.url + path, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        mode: "cors",
        credentials: "omit",
        targetAddressSpace: "loopback", // Chrome's Local Network Access hint
      });
    } catch (cause) {
      throw new AgentUnreachable(cause);
    }
    const text = await response.text();
    const data = text ? JSON.parse(text) : null;
    if (!response.ok) {
      const problem = data || {};
      const Kind = ERROR_CLASSES[problem.code] || PuenteError;
      throw new Kind(response.status, problem.code || "http_error", problem.title,
        problem.detail, problem);
    }
    return data;
  }

  /**
   * Whether this site may call the agent: {allowed, paired, token_valid}. Readable from any
   * origin, so a site not on the allow-list learns it must pair() (other calls from such a
   * site fail like an unreachable agent: the browser hides the refusal).
   */
  pairingStatus() {
    return this.request("GET", "/v1/pairing/status");
  }

  /** True when calls will be admitted (allow-listed, or paired with a valid token). */
  async ready() {
    const s = await this.pairingStatus();
    return s.allowed || s.token_valid;
  }

  /** Station, devices, outbox and link state. */
  status() {
    return this.request("GET", "/v1/status");
  }

  /**
   * Ask to pair this site. Show `code` to the user and tell them to approve the same code
   * on the agent's page (`approveAt`), which this method can open for them.
   * Resolves with the token once approved; rejects when refused or expired.
   * @param {{appName?: string, onCode?: (code: string, approveAt: string) => void,
   *          openAgentPage?: boolean, pollMs?: number}} [options]
   */
  async pair(options = {}) {
    const asked = await this.request("POST", "/v1/pairing/requests",
      { app_name: options.appName || document.title || "" });
    options.onCode?.(asked.code, asked.approve_at);
    if (options.openAgentPage) window.open(asked.approve_at, "puente-pairing", "popup");
    for (;;) {
      await sleep(options.pollMs ?? 1000);
      const state = await this.request("GET",
        `/v1/pairing/requests/${encodeURIComponent(asked.request_id)}`);
      if (state.state === "approved" && state.token) {
        this.token = state.token;
        this.storage?.setItem(TOKEN_KEY, state.token);
        return state.token;
      }
      if (state.state !== "pending") {
        throw new NotPaired(403, `pairing_${state.state}`, "Pairing / Emparejamiento",
          `pairing was ${state.state} / el emparejamiento fue ${state.state}`, state);
      }
    }
  }

  /** Forget this site's pairing token in the browser. */
  forgetPairing() {
    this.token = null;
    this.storage?.removeItem(TOKEN_KEY);
  }

  /** Record a fact directly (payload keyed by its kind, as in protos/events.proto). */
  recordEvent(fact) {
    return this.request("POST", "/v1/events", fact);
  }

  /** One set of vital signs from a monitor, recorded on the case. */
  takeVitals({ deviceId, caseId, patientId, timeoutS = 10 }) {
    return this.request("POST", "/v1/vitals/take",
      { device_id: deviceId, case_id: caseId, patient_id: patientId, timeout_s: timeoutS });
  }

  /** An EventSource URL for a stream, carrying the pairing token (EventSource has no headers). */
  streamUrl(path) {
    const url = new URL(this.url + path);
    if (this.token) url.searchParams.set("puente_token", this.token);
    return url.toString();
  }
}
