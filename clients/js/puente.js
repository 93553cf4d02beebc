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

  // -- fingerprint ------------------------------------------------------------------------

  /** Readers plugged into the station (USB), and whether a driver supports them. */
  fingerprintReaders() {
    return this.request("GET", "/v1/fingerprint/readers");
  }

  /**
   * Enroll a patient's finger: the patient touches the reader several times; an impression
   * that cannot support the station's threshold rejects with code "poor_quality" (or
   * "impressions_inconsistent"), its bilingual detail naming which impression and asking to
   * try again or enroll a different finger: show `err.detail`. Images never leave the station.
   */
  enrollFinger({ deviceId, caseId, patientId, finger, operatorId = "", impressions = 0,
                 timeoutS = 20 }) {
    return this.request("POST", "/v1/fingerprint/enroll", {
      device_id: deviceId, case_id: caseId, patient_id: patientId, finger,
      operator_id: operatorId, impressions, timeout_s: timeoutS,
    });
  }

  /**
   * Confirm the patient at a step of care ("admission", "pharmacy_dispensing", ...).
   * Resolves with {decision: "MATCH"|"NO_MATCH", match, score, threshold, quality, finger}.
   */
  verifyFinger({ deviceId, caseId, patientId, step, operatorId = "", timeoutS = 20 }) {
    return this.request("POST", "/v1/fingerprint/verify", {
      device_id: deviceId, case_id: caseId, patient_id: patientId, step,
      operator_id: operatorId, timeout_s: timeoutS,
    });
  }

  /** Stop waiting for a finger on the reader. */
  cancelFinger(deviceId) {
    return this.request("POST", "/v1/fingerprint/cancel", { device_id: deviceId });
  }

  // -- signatures -------------------------------------------------------------------------

  /** Tokens on the station and their signing certificates (`cert_id` names one). */
  signingTokens() {
    return this.request("GET", "/v1/signing/tokens");
  }

  /** Document types and the signers each requires, in order. */
  documentTypes() {
    return this.request("GET", "/v1/signing/document-types");
  }

  /**
   * Sign a PDF with the doctor's token (or a simple signature where the document type allows
   * it). The agent opens its own consent page in a popup: the user sees what is signed and
   * types the PIN there — this page never sees it. Resolves with {job, pdf} (the signed PDF as
   * a Blob) once signed; rejects with the agent's reason when declined or failed.
   * The popup must be opened from a click handler (browsers block other popups).
   */
  async sign({ pdf, documentType, caseId, patientId, role, certId, documentId,
               signature = "advanced", user, popup = true, waitS = 30 }) {
    const query = new URLSearchParams({
      document_type: documentType, case_id: caseId, patient_id: patientId, role,
      signature,
    });
    if (certId) query.set("cert_id", certId);
    if (documentId) query.set("document_id", documentId);
    if (user) { query.set("user_id", user.userId); query.set("user_name", user.name); }
    const headers = { "Content-Type": "application/pdf", Accept: "application/json" };
    if (this.token) headers["X-Puente-Token"] = this.token;
    let response;
    try {
      response = await fetch(`${this.url}/v1/signing/jobs?${query}`, {
        method: "POST", headers, body: pdf, mode: "cors", credentials: "omit",
      });
    } catch (cause) {
      throw new AgentUnreachable(cause);
    }
    const job = await response.json();
    if (!response.ok) {
      throw new PuenteError(response.status, job.code, job.title, job.detail, job);
    }
    const consent = new URL(job.consent_url, this.url).toString();
    if (popup) window.open(consent, `puente-consent-${job.job_id}`, "popup,width=560,height=720");
    for (;;) {
      const state = await this.request("GET",
        `/v1/signing/jobs/${encodeURIComponent(job.job_id)}?wait_s=${waitS}`);
      if (state.status === "done") {
        const signed = await fetch(`${this.url}/v1/signing/jobs/${encodeURIComponent(job.job_id)}/pdf`,
          { headers: this.token ? { "X-Puente-Token": this.token } : {}, mode: "cors" });
        return { job: state, pdf: await signed.blob(), consentUrl: consent };
      }
      if (["failed", "declined", "expired"].includes(state.status)) {
        throw new PuenteError(409, state.error_code || `signing_${state.status}`,
          "Signature / Firma", state.error_reason || state.status, state);
      }
    }
  }

  // -- scanners ---------------------------------------------------------------------------

  /** The station's scanners with their capabilities (sources, modes, resolutions). */
  scanners() {
    return this.request("GET", "/v1/scanners");
  }

  /**
   * Scan a document for a case. Resolves with the finished job (its `result` names the PDF's
   * hash, size and pages) once the PDF is durable at the station; `onProgress(job)` is called
   * with "page n of m" as pages arrive. Device problems (paper jam, empty feeder, ...) reject
   * with a PuenteError carrying the device's code.
   */
  async scan(options) {
    const job = await this.request("POST", "/v1/scans", {
      device_id: options.deviceId,
      case_id: options.caseId,
      patient_id: options.patientId,
      document_type: options.documentType,
      title: options.title ?? "",
      source: options.source ?? "flatbed",
      mode: options.mode ?? "gray",
      resolution_dpi: options.resolutionDpi ?? 300,
      drop_blank_pages: options.dropBlankPages ?? false,
      expected_pages: options.expectedPages ?? 0,
    });
    return await new Promise((resolve, reject) => {
      const events = new EventSource(this.streamUrl(`/v1/scans/${encodeURIComponent(job.job_id)}/events`));
      const finish = (done) => {
        events.close();
        if (done.error) {
          reject(new PuenteError(409, done.error.code, "Scan / Escaneo", done.error.reason, done));
        } else {
          resolve(done);
        }
      };
      events.addEventListener("progress", (e) => options.onProgress?.(JSON.parse(e.data)));
      events.addEventListener("end", (e) => finish(JSON.parse(e.data)));
      events.onerror = async () => {
        events.close();
        try {
          finish(await this.request("GET", `/v1/scans/${encodeURIComponent(job.job_id)}`));
        } catch (err) {
          reject(err);
        }
      };
    });
  }

  /** Cancel a scan under way. */
  cancelScan(jobId) {
    return this.request("POST", `/v1/scans/${encodeURIComponent(jobId)}/cancel`, {});
  }

  // -- telemedicine streaming ---------------------------------------------------------------

  /** Bind a monitor to a case and start streaming its numerics to the hub. */
  startVitalsSession({ deviceId, caseId, patientId, operatorId = "" }) {
    return this.request("POST", "/v1/vitals/sessions",
      { device_id: deviceId, case_id: caseId, patient_id: patientId, operator_id: operatorId });
  }

  /** Unbind the monitor from the case. */
  stopVitalsSession(sessionId) {
    return this.request("POST", `/v1/vitals/sessions/${encodeURIComponent(sessionId)}/stop`, {});
  }

  /**
   * Watch a session's numerics as they arrive: `onReading(reading)` per numeric, `onEnd()` when
   * the session stops. Returns a function that stops watching.
   */
  watchVitals(sessionId, { onReading, onEnd, onError } = {}) {
    const events = new EventSource(
      this.streamUrl(`/v1/vitals/sessions/${encodeURIComponent(sessionId)}/live`));
    events.addEventListener("reading", (e) => onReading?.(JSON.parse(e.data)));
    events.addEventListener("end", () => { events.close(); onEnd?.(); });
    events.onerror = (e) => onError?.(e);
    return () => events.close();
  }

  // -- pharmacy dispensing ------------------------------------------------------------------

  /**
   * Open a dispensing session for a case and prescription. `lines`: [{productCode, quantity,
   * durationDays}]. Items come from the station's barcode scanner `scannerDeviceId` (or scanDispensed).
   */
  openDispensing({ caseId, patientId, prescriptionId = "", lines, pharmacistId, scannerDeviceId = "" }) {
    return this.request("POST", "/v1/pharmacy/sessions", {
      case_id: caseId, patient_id: patientId, prescription_id: prescriptionId,
      lines: lines.map((l) => ({ product_code: l.productCode, quantity: l.quantity,
        duration_days: l.durationDays ?? 0 })),
      pharmacist_id: pharmacistId, scanner_device_id: scannerDeviceId,
    });
  }

  /** Pass a scan the page received (identifier first, FNC1 as "\u001d"); refusals reject. */
  scanDispensed(sessionId, raw) {
    return this.request("POST", `/v1/pharmacy/sessions/${encodeURIComponent(sessionId)}/scans`, { raw });
  }

  /**
   * Watch a session: `onItem(update)` per accepted item, `onRefused(update)` per refused or
   * unreadable scan (show `update.warning`), `onEnd()` when finished or cancelled.
   */
  watchDispensing(sessionId, { onItem, onRefused, onEnd, onError } = {}) {
    const events = new EventSource(
      this.streamUrl(`/v1/pharmacy/sessions/${encodeURIComponent(sessionId)}/events`));
    events.addEventListener("item", (e) => onItem?.(JSON.parse(e.data)));
    for (const kind of ["refused", "unreadable"]) {
      events.addEventListener(kind, (e) => onRefused?.(JSON.parse(e.data)));
    }
    events.addEventListener("end", () => { events.close(); onEnd?.(); });
    events.onerror = (e) => onError?.(e);
    return () => events.close();
  }

  /** Finish with the patient's fingerprint (step "pharmacy"): one event on the case. */
  finishDispensing(sessionId, fingerprintDeviceId) {
    return this.request("POST", `/v1/pharmacy/sessions/${encodeURIComponent(sessionId)}/finish`,
      { fingerprint_device_id: fingerprintDeviceId });
  }

  cancelDispensing(sessionId) {
    return this.request("POST", `/v1/pharmacy/sessions/${encodeURIComponent(sessionId)}/cancel`, {});
  }

  /** An EventSource URL for a stream, carrying the pairing token (EventSource has no headers). */
  streamUrl(path) {
    const url = new URL(this.url + path);
    if (this.token) url.searchParams.set("puente_token", this.token);
    return url.toString();
  }
}
