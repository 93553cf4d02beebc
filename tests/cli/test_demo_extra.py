"""Without the `demo` extra, `puente demo` says what to install instead of a traceback."""

from __future__ import annotations

import subprocess
import sys

# amqtt made unimportable the way a missing package is (sys.modules[name] = None).
HIDE_AMQTT = (
    "import sys; sys.modules['amqtt'] = None; "
    "from puente_cli.main import app; app(['demo', '--exit-after-sample'])"
)


def test_demo_without_amqtt_names_the_extra_in_both_languages() -> None:
    run = subprocess.run(
        [sys.executable, "-c", HIDE_AMQTT], capture_output=True, text=True, timeout=60
    )
    assert run.returncode == 2, run.stdout + run.stderr
    assert "pip install 'puente[demo]'" in run.stderr
    assert "no está instalado" in run.stderr
    assert "Traceback" not in run.stderr
