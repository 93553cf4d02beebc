// Types of clients/js/puente.js.

export interface Problem {
  type?: string;
  title?: string;
  status?: number;
  detail?: string;
  code?: string;
  [key: string]: unknown;
}

export class PuenteError extends Error {
  status: number;
  code: string;
  title?: string;
  detail?: string;
  body?: Problem;
}
export class AgentUnreachable extends PuenteError {}
export class NotPaired extends PuenteError {}
export class OutboxFull extends PuenteError {}

export interface DeviceStatus {
  device_id: string;
  family: string;
  driver: string;
  state: string;
  model: string;
  serial: string;
  error_code: string;
  detail: string;
}

export interface AgentStatus {
  station_id: string;
  unit_id: string;
  version: string;
  devices: DeviceStatus[];
  outbox: { depth: number; bytes: number; limit_bytes: number; hard_limit_bytes: number; oldest_age_ms: number };
  link: { connected: boolean; broker: string; in_flight: number; last_receipt_at: string | null; reconnects: number };
}

export interface Recorded {
  event_id: string;
  station_seq: number;
}

export interface Reading {
  mdc_code: number;
  mdc_refid: string;
  value: number;
  unit: string;
  measured_at: string;
  flags: string[];
}

export interface VitalsTaken extends Recorded {
  device_id: string;
  monitor_model: string;
  monitor_serial: string;
  readings: Reading[];
}

export interface PairOptions {
  appName?: string;
  onCode?: (code: string, approveAt: string) => void;
  openAgentPage?: boolean;
  pollMs?: number;
}

export class PuenteAgent {
  constructor(options?: { url?: string; token?: string | null; storage?: Storage | null });
  url: string;
  token: string | null;
  request<T = unknown>(method: string, path: string, body?: unknown): Promise<T>;
  pairingStatus(): Promise<{ origin: string | null; allowed: boolean; paired: boolean; token_valid: boolean }>;
  ready(): Promise<boolean>;
  status(): Promise<AgentStatus>;
  pair(options?: PairOptions): Promise<string>;
  forgetPairing(): void;
  recordEvent(fact: {
    case_id?: string;
    patient_id?: string;
    device_id?: string;
    occurred_at?: string;
    payload: Record<string, unknown>;
  }): Promise<Recorded>;
  takeVitals(args: { deviceId: string; caseId: string; patientId: string; timeoutS?: number }): Promise<VitalsTaken>;
  streamUrl(path: string): string;

  fingerprintReaders(): Promise<{ usb_id: string; vendor: string; model: string; driver: string; supported: boolean }[]>;
  enrollFinger(args: {
    deviceId: string; caseId: string; patientId: string; finger: string;
    operatorId?: string; impressions?: number; timeoutS?: number;
  }): Promise<{ event_id: string; station_seq: number; template_sha256: string; impression_quality: number[] }>;
  verifyFinger(args: {
    deviceId: string; caseId: string; patientId: string; step: string; operatorId?: string; timeoutS?: number;
  }): Promise<{
    event_id: string; station_seq: number; decision: "MATCH" | "NO_MATCH"; match: boolean;
    score: number; threshold: number; quality: number; finger: string; templates_source: "hub" | "cache";
  }>;
  cancelFinger(deviceId: string): Promise<null>;

  signingTokens(): Promise<unknown>;
  documentTypes(): Promise<unknown>;
  sign(args: {
    pdf: Blob | ArrayBuffer | Uint8Array;
    documentType: string;
    caseId: string;
    patientId: string;
    role: string;
    certId?: string;
    documentId?: string;
    signature?: "advanced" | "simple";
    user?: { userId: string; name: string };
    popup?: boolean;
    waitS?: number;
  }): Promise<{ job: SigningJob; pdf: Blob; consentUrl: string }>;

  scanners(): Promise<Scanner[]>;
  scan(options: ScanOptions): Promise<ScanJob>;
  cancelScan(jobId: string): Promise<ScanJob>;

  startVitalsSession(args: { deviceId: string; caseId: string; patientId: string; operatorId?: string }): Promise<VitalsSession>;
  stopVitalsSession(sessionId: string): Promise<VitalsSession>;
  watchVitals(
    sessionId: string,
    handlers?: { onReading?: (r: LiveReading) => void; onEnd?: () => void; onError?: (e: Event) => void },
  ): () => void;

  openDispensing(args: {
    caseId: string; patientId: string; prescriptionId?: string;
    lines: { productCode: string; quantity: number; durationDays?: number }[];
    pharmacistId: string; scannerDeviceId?: string;
  }): Promise<DispensingSession>;
  scanDispensed(sessionId: string, raw: string): Promise<DispensingUpdate>;
  watchDispensing(
    sessionId: string,
    handlers?: {
      onItem?: (u: DispensingUpdate) => void; onRefused?: (u: DispensingUpdate) => void;
      onEnd?: () => void; onError?: (e: Event) => void;
    },
  ): () => void;
  finishDispensing(sessionId: string, fingerprintDeviceId: string): Promise<{
    event_id: string; station_seq: number; confirmation_event_id: string; session: DispensingSession;
  }>;
  cancelDispensing(sessionId: string): Promise<DispensingSession>;
}

export interface DispensedItem {
  gtin: string; institute_code: string; name: string; lot?: string; expiry?: string;
  serial?: string; quantity: number; raw: string; scanned_at: string; warning?: string;
}

export interface DispensingLine {
  product_code: string; quantity_prescribed: number; duration_days?: number;
  quantity_dispensed?: number; status: "complete" | "short" | "over";
}

export interface DispensingUpdate {
  session_id: string;
  kind: "item" | "refused" | "unreadable" | "finished" | "cancelled";
  item: DispensedItem | null;
  code: string;
  warning: string;
  lines: DispensingLine[];
  differences: string[];
}

export interface DispensingSession {
  session_id: string; case_id: string; patient_id: string; prescription_id: string;
  pharmacist_id: string; scanner_device_id: string; state: "open" | "finished" | "cancelled";
  items: DispensedItem[]; lines: DispensingLine[]; differences: string[];
  refusals: DispensingUpdate[]; event_id: string; confirmation_event_id: string;
}

export interface Scanner {
  device_id: string;
  driver: string;
  state: string;
  model: string;
  error_code: string;
  capabilities: { sources: string[]; modes: string[]; resolutions: number[]; max_width_mm: number; max_height_mm: number } | null;
}

export interface ScanOptions {
  deviceId: string;
  caseId: string;
  patientId: string;
  documentType: string;
  title?: string;
  source?: "flatbed" | "feeder" | "duplex";
  mode?: "gray" | "color" | "lineart";
  resolutionDpi?: number;
  dropBlankPages?: boolean;
  expectedPages?: number;
  onProgress?: (job: ScanJob) => void;
}

export interface ScanJob {
  job_id: string;
  device_id: string;
  case_id: string;
  state: string;
  pages_scanned: number;
  pages_expected: number;
  blank_pages_dropped: number;
  version: number;
  result: { event_id: string; station_seq: number; document_id: string; sha256: string; size: number; pages: number; blank_pages_dropped: number } | null;
  error: { code: string; reason: string } | null;
}

export interface VitalsSession {
  session_id: string;
  device_id: string;
  case_id: string;
  patient_id: string;
  started_at: string;
  stopped_at: string | null;
  active: boolean;
  batches: number;
  readings: number;
  rejected: number;
  interruptions: number;
}

export interface LiveReading {
  session_id: string;
  case_id: string;
  mdc_code: number;
  mdc_refid: string;
  parameter: string | null;
  loinc: string | null;
  value: number;
  unit: string;
  measured_at: string;
  flags: string[];
  rejected?: { code: string; reason: string };
}

export interface SigningJob {
  job_id: string;
  status: "awaiting_consent" | "signing" | "done" | "failed" | "declined" | "expired";
  document_type: string;
  case_id: string;
  patient_id: string;
  document_id: string;
  role: string;
  origin: string;
  input_sha256: string;
  kind: "advanced" | "simple";
  cert_id: string | null;
  signer_subject: string;
  error_code: string | null;
  error_reason: string | null;
  signed_sha256: string | null;
  signed_size: number | null;
  level: string | null;
  event_id: string | null;
  signed_at: string | null;
  consent_url: string | null;
  signed_pdf_url: string | null;
}
