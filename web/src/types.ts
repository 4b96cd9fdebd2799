// The shapes of the API's replies (doc/api.md, src/api/views.cc).

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

export interface Grant {
  study: string;
  role: string;
  site: string;
}

export interface Me {
  user: string;
  full_name: string;
  csrf_token: string;
  grants: Grant[];
}

export interface StudySummary {
  id: string;
  title: string;
  version: string;
  roles: string[];
  locked: boolean; // the database is locked: every page is read only
}

export interface Range {
  min?: number;
  max?: number;
}

export interface ItemDef {
  id: string;
  label: string;
  type: string;
  unit: string;
  codelist: string;
  visible_if: string;
  derive: string;
  hard_range: Range | null;
  soft_range: Range | null;
  required: boolean;
  precision?: number;
}

export interface GroupDef {
  id: string;
  label: string;
  repeating: boolean;
  items: ItemDef[];
}

export interface FormDef {
  id: string;
  name: string;
  roles: string[];
  groups: GroupDef[];
}

export interface VisitDef {
  id: string;
  name: string;
  forms: string[];
  day?: number;
  window_before: number;
  window_after: number;
  unscheduled: boolean;
}

export interface Definition {
  id: string;
  title: string;
  version: string;
  sites: { id: string; name: string }[];
  visits: VisitDef[];
  forms: FormDef[];
  codelists: Record<string, { code: string; label: string }[]>;
  eligibility: { id: string; kind: string; text: string }[];
  arms?: { code: string; name: string }[];
  // The server numbers new subjects (subject_numbering in the study file).
  subject_numbers_assigned: boolean;
  // Standard reasons for change; empty: any reason in the user's words.
  reasons_for_change: string[];
  // The item holding each visit's date; first: no other form of a visit before it.
  visit_date: { form: string; item: string; first: boolean };
  // With a safety section: the AE log, whose rows carry their MedDRA coding.
  adverse_events?: { form: string; group: string; term: string };
}

export interface ItemState {
  value: JsonValue;
  verified: boolean;
  not_done?: string;
  // An identifying item the caller's role sees in part (the year) or not at all.
  withheld?: 'year_only' | 'hidden';
}

// An adverse event row's term as coded to MedDRA (src/api/views.cc RowCodingJson).
export interface RowCoding {
  verbatim: string;
  meddra_version: string;
  method: string;
  llt: MeddraTerm;
  pt: MeddraTerm;
  soc: MeddraTerm;
}

export interface FormRow {
  row: number;
  items: Record<string, ItemState>;
  coding?: RowCoding; // an adverse event row, when coded
}

export interface FormState {
  items: Record<string, ItemState>;
  rows: Record<string, FormRow[]>;
  frozen: boolean;
  locked: boolean;
}

// Why the server refuses any change to a form now (capture::WhyReadOnly).
export type ReadOnlyReason = 'database_locked' | 'subject_inactive' | 'subject_locked' | 'subject_frozen' | 'form_locked' | 'form_frozen' | 'visit_missed';

export interface FormReply extends FormState {
  subject: string;
  visit: string;
  form: string;
  status: string;
  read_only?: ReadOnlyReason; // absent: it can be changed
}

export interface QueryMessage {
  action: string;
  message: string;
  user: string;
  role: string;
  time: string;
}

// Who raised a query: a user, or the system through an edit check, after
// the save of the user named in triggered_by.
export type RaisedBy =
  | { kind: 'user'; user: string; role: string }
  | {
      kind: 'edit_check';
      check: string;
      message: string;
      triggered_by: { user: string; role: string };
      triggering_save_seq?: number; // only for those who see every event
    };

// Where a query stands and what it is about.
export interface QueryPlace {
  query: number;
  visit: string;
  form: string;
  item: string;
  check: string;
  state: string;
  group?: string; // with row, for an item of a repeating group
  row?: number;
  raised_by?: RaisedBy;
}

export interface Query extends QueryPlace {
  thread: QueryMessage[];
}

export interface Signature {
  signature: number;
  visit: string;
  form: string;
  meaning: string;
  signer: string;
  signer_name: string;
  time: string;
  // Absent for a blinded caller when the scope can hold unblinded items.
  content_hash?: string;
  broken: boolean;
}

export interface Subject {
  id: string;
  site: string;
  status: string;
  version: number;
  frozen: boolean;
  locked: boolean;
  inactive: boolean;
  inactive_reason: string;
  visits: Record<string, { forms: Record<string, FormState>; missed: boolean }>;
  queries: Query[];
  signatures: Signature[];
  as_of?: string;
}

export interface ScheduleVisit {
  visit: string;
  status: string;
  planned?: string;
  actual?: string;
  forms: { form: string; status: string }[];
}

// GET .../subjects/{subject}/eligibility: each criterion judged for enrolment
// (an exclusion is met when it does not apply) and the form that answers it.
export interface EligibilityReply {
  eligible: 'yes' | 'no' | 'not_yet';
  criteria: {
    id: string;
    kind: 'inclusion' | 'exclusion';
    text: string;
    result: 'met' | 'not_met' | 'not_yet_answerable';
    visit: string;
    form: string;
  }[];
}

export interface SubjectRow {
  id: string;
  site: string;
  status: string;
  inactive: boolean;
  open_queries: number;
  answered_queries: number;
}

export interface InboxQuery extends QueryPlace {
  subject: string;
  site: string;
  message: string;
  age_days: number;
}

export interface Dashboard {
  planned_subjects: number;
  subjects_by_site: Record<string, Record<string, number>>;
  open_queries_by_age: Record<string, number>;
  answered_queries_by_age: Record<string, number>;
  overdue_visits: number;
  visits_out_of_window: number;
  unsigned_casebooks: number;
  database_locked: boolean;
  // The first 200 of each, with the subject and visit.
  overdue: WorkItem[];
  out_of_window: WorkItem[];
  unsigned: WorkItem[];
  // Studies with a safety section: the clocks of the open cases the viewer sees.
  safety?: {
    open: number;
    due_within_3_days: number;
    overdue: number;
    late: number;
    most_urgent?: { case: string; term: string; stage: string; days_left: number };
  };
}

export interface WorkItem {
  subject: string;
  visit: string;
  status: string;
}

export interface AuditEntry {
  seq?: number; // only for those who see every event (positions count hidden ones)
  time: string;
  user: string;
  role: string;
  event: string;
  path: string;
  reason: string;
  old: JsonValue;
  new: JsonValue;
  raised_by?: RaisedBy; // the opening of a query: who raised it
}

// Where a query of a save stands: the item it is on and the check's text.
export interface SavedQuery {
  query: number;
  visit: string;
  form: string;
  item: string;
  group?: string;
  row?: number;
  check: string;
  message?: string;
}

// What a save did besides storing its values (form.save's result).
export interface SaveResult {
  queries_opened: SavedQuery[];
  queries_closed: SavedQuery[];
  signatures_broken: { signature: number; meaning: string; signer_name: string }[];
  verification_reset: { visit: string; form: string; item: string; group?: string; row?: number }[];
  // Safety cases a serious adverse event opened, or received a follow-up from.
  safety_cases?: { case: string; row: number; action: 'opened' | 'followup' }[];
}

export interface Problem {
  item: string;
  group?: string;
  row?: number;
  check: string;
  message: string;
  hard: boolean;
  // A warning with a query on it: the query and where it stands.
  query?: number;
  query_state?: string;
}

export interface CheckResult {
  problems: Problem[];
  derived: Record<string, JsonValue>;
  hidden: string[];
  hidden_in_rows: { group: string; row: number; item: string }[];
  new_rows: Record<string, number[]>; // the numbers rows added would get, in order
  needs_reason: string[];
}

// sdv.verify's result: the items verified, and those left for their open query.
export interface VerifyResult {
  verified: { item: string; group?: string; row?: number }[];
  skipped: { item: string; group?: string; row?: number; query: number }[];
}

export interface CommandReply<R = JsonValue> {
  messages: string[];
  events: { seq?: number; type: string }[];
  result: R;
  version?: number;
}

export interface Account {
  id: string;
  full_name: string;
  disabled: boolean;
  grants: { role: string; site: string }[];
}

// The database lock checklist (GET .../lock-checklist).
export interface LockCheckItem {
  id: string;
  title: string;
  count: number;
  acceptable: boolean;
  listed: { subject: string; visit: string; form: string; detail: string }[];
}

// A database lock or unlock as its signed event records it.
export interface LockEvent {
  action: 'locked' | 'unlocked';
  time: string;
  user: string;
  role: string;
  signer_name: string;
  reason: string;
  accepted: Record<string, string>;
}

export interface LockChecklist {
  items: LockCheckItem[];
  locked: boolean;
  history: LockEvent[]; // oldest first
}

// What awaits an investigator's signature (GET .../awaiting-signature).
export interface AwaitingSignature {
  listed: { subject: string; visit: string; form: string; why: 'casebook' | 'broken' }[];
  total: number;
}

// A safety case in the inbox (doc/api.md, "Safety cases").
export interface SafetyReportDue {
  destination: string;  // FDA | EU
  kind: string;         // initial | upgrade | follow-up
  days: number;
  rule: string;
  due: string;          // YYYY-MM-DD
  days_left?: number;   // only while not yet sent
  follow_up_due?: string;
  submitted?: string;   // when it was sent
  submission?: number;
  late?: boolean;
}

export interface SafetyAssessment {
  status: 'pending' | 'susar' | 'not_susar';
  investigator_causality: string;
  investigator_related: boolean;
  version?: number;
  sponsor_causality?: string;
  expectedness?: string;
  rsi_document?: string;
  study_version?: string;
  comment?: string;
  by?: string;
  at?: string;
}

export interface MeddraTerm {
  code: number;
  name: string;
}

// A primary path of MedDRA, from the lowest level term to its system organ class.
export interface MeddraPath {
  llt: MeddraTerm;
  pt: MeddraTerm;
  hlt: MeddraTerm;
  hlgt: MeddraTerm;
  soc: MeddraTerm;
  current: boolean;
}

// GET .../safety/cases/{case}/coding
export interface CodingReply {
  meddra_version: string;
  term: string;
  rule: 'exact' | 'normalised' | 'ambiguous' | 'candidates' | string;
  coding?: MeddraPath;
  candidates: (MeddraPath & { score: number })[];
}

export interface E2bFinding {
  rule: string;
  element: string;
  rejection: boolean;
  message: string;
}

// GET .../safety/cases/{case}/e2b?destination=
export interface E2bPreview {
  destination: string;
  receiver: string;
  batch_number: string;
  message_id: string;
  safety_report_id: string;
  findings: E2bFinding[];
  valid: boolean;
  xml: string;
}

export interface SafetySubmission {
  submission: number;
  version: number;
  destination: string;
  batch_number: string;
  message_id: string;
  safety_report_id: string;
  file_sha256: string;
  nullification: boolean;
  by: string;
  at: string;
  ack: 'awaiting' | 'accepted' | 'rejected';
  ack_code?: string;
  ack_errors?: string[];
  ack_at?: string;
}

export interface SafetyHistoryEntry {
  type: string;
  at: string;
  by: string;
  role: string;
  reason?: string;
  details: Record<string, JsonValue>;
}

// GET .../safety/cases/{case}: the inbox's case and the workflow's detail.
export interface SafetyCaseDetail extends Omit<SafetyCase, 'coding'> {
  triage: { done: boolean; valid?: boolean; missing?: string[]; duplicate_of?: string };
  coding?: {
    verbatim: string;
    current: boolean;
    meddra_version: string;
    meddra_language: string;
    method: string;
    llt: MeddraTerm;
    pt: MeddraTerm;
    hlt: MeddraTerm;
    hlgt: MeddraTerm;
    soc: MeddraTerm;
    by: string;
    at: string;
  };
  approval?: { version: number; by: string; at: string };
  submissions: SafetySubmission[];
  nullification_reason?: string;
  history: SafetyHistoryEntry[];
  actions: string[];
  destinations: string[];
  rsi_document: string;
  treatment?: { visit: string; form: string; item: string; label?: string; value: JsonValue }[];
  // A direct case (no subject): what the safety team received (doc/api.md).
  received?: {
    source: string;
    received: string;
    latest: string;
    facts?: {
      source?: string;
      received?: string;
      reporter?: { qualification?: string; given?: string; family?: string; country?: string; email?: string };
      patient?: { sex?: string; age?: string };
      event?: { term: string; onset?: string; outcome?: string; criteria?: string[] };
      product?: string;
      causality?: string;
      reference?: string;
      narrative?: string;
    };
    worldwide_id?: string;
    safety_report_id?: string;
    sender?: string;
    reactions?: { term: string; meddra_llt: string; outcome: string }[];
    drugs?: { name: string; characterisation: string }[];
    narrative?: string;
  };
}

// GET .../safety/tabulation
export interface SafetyTabulation {
  rows: { soc: string; pt: string; serious_adverse_reactions: number; fatal: number; unexpected: number }[];
  serious_adverse_reactions: number;
}

// GET .../safety/signals: numbers, "Inf" for an infinite ratio, null when not scored.
export interface SafetySignals {
  cases: number;
  not_coded: number;
  products: string[];
  mined: boolean;
  scored: boolean;
  why_not: string;
  rows: {
    product: string;
    event: string;
    n: number;
    expected: number | string;
    prr: number | string;
    prr_lower95: number | string;
    ror: number | string;
    ror_lower95: number | string;
    ic025: number | string;
    ebgm: number | string | null;
    eb05: number | string | null;
    eb95: number | string | null;
  }[];
}

// GET .../safety/cases/{case}/notifications
export interface CaseNotification {
  name: string;
  email: string;
  role: string;
  state: string; // pending | sent | failed
  attempts: number;
  updated: string | null;
  error: string;
  next_attempt: string | null;
}

// POST .../safety/imports
export interface E2bImportReply {
  file: string;
  cases: string[];
}

// POST .../safety/acks
export interface AckReply {
  acknowledged: { case: string; submission: number; destination: string; ack: string; code: string; errors: string[] }[];
}

export interface SafetyCase {
  case: string;
  source: string;  // crf | spontaneous | literature | e2b
  subject: string;
  site: string;
  visit: string;
  form: string;
  group: string;
  row: number;
  term: string;
  onset: string;
  outcome: string;
  causality: string;
  criteria: string[];
  serious: boolean;
  fatal_or_life_threatening: boolean;
  state: string;  // open | nullification_proposed | closed
  stage: string;  // doc/safety_cases.md: triage, coding, medical_review ... complete, closed, nullified
  version: number;
  coding?: { llt: string; pt: string; soc: string };
  assessment: SafetyAssessment;
  unblinded?: boolean;
  aware: string;
  day0: string;
  updated: string;
  followups: number;
  reports: SafetyReportDue[];
  days_left?: number;
}
