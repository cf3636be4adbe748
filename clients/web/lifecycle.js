// lifecycle.js - which actions a role may take on a case in a state: a
// copy of the table in csirtd/lifecycle.c (lc_table) and the role masks of
// csirtd/rpc.c, used only to decide which buttons to show.  The daemon
// decides for real: a button shown by mistake ends in a
// failed_precondition or permission_denied sentence, never in a change.

const SM = 'ROLE_SECURITY_MANAGER';
const LEAD = 'ROLE_CSIRT_LEAD';
const INV = 'ROLE_INVESTIGATOR';

const OPEN = ['CASE_STATE_REPORTED', 'CASE_STATE_ACKNOWLEDGED', 'CASE_STATE_ESCALATED',
  'CASE_STATE_INVESTIGATING', 'CASE_STATE_RESOLVED'];

// name: the UI action; rpc: the CaseService method; states x roles: when;
// text: whether the text is required (lifecycle.c NEED_TEXT), optional, or
// absent; request: how the form becomes the request.
export const actions = [
  { name: 'acknowledge', rpc: 'Acknowledge', text: 'optional',
    when: [[['CASE_STATE_REPORTED'], [SM]]] },
  { name: 'guidance', rpc: 'GiveGuidance', text: 'required',
    when: [[OPEN, [SM]]] },
  { name: 'escalate', rpc: 'Escalate', text: 'optional',
    when: [[['CASE_STATE_REPORTED', 'CASE_STATE_ACKNOWLEDGED'], [SM]]] },
  { name: 'dismiss', rpc: 'Dismiss', text: 'required',
    when: [[['CASE_STATE_REPORTED', 'CASE_STATE_ACKNOWLEDGED'], [SM]]] },
  { name: 'investigate', rpc: 'OpenInvestigation', text: 'optional',
    when: [[['CASE_STATE_ESCALATED'], [LEAD]]] },
  { name: 'assign', rpc: 'AssignInvestigators', text: 'assignees',
    when: [[['CASE_STATE_ESCALATED', 'CASE_STATE_INVESTIGATING'], [LEAD]]] },
  { name: 'note', rpc: 'AddNote', text: 'note',
    when: [[['CASE_STATE_REPORTED', 'CASE_STATE_ACKNOWLEDGED'], [SM, LEAD]],
      [['CASE_STATE_ESCALATED', 'CASE_STATE_INVESTIGATING', 'CASE_STATE_RESOLVED'], [SM, LEAD, INV]]] },
  { name: 'resolve', rpc: 'Resolve', text: 'required',
    when: [[['CASE_STATE_INVESTIGATING'], [LEAD]]] },
  { name: 'close', rpc: 'Close', text: 'optional',
    when: [[['CASE_STATE_RESOLVED'], [SM, LEAD]]] },
  { name: 'reopen', rpc: 'Reopen', text: 'required',
    when: [[['CASE_STATE_CLOSED'], [LEAD]]] },
];

// The actions `role` may take on a case in `state`, in table order.
export function allowedActions(role, state) {
  return actions.filter((a) => a.when.some(([states, roles]) =>
    states.includes(state) && roles.includes(role)));
}

// Roles that may file a report (rpc.c: ReportIncident).
export function mayReport(role) {
  return role === 'ROLE_REPORTER' || role === SM;
}

// Roles that read cases (rpc.c: CASE_READERS).
export function readsCases(role) {
  return ['ROLE_REPORTER', SM, LEAD, INV, 'ROLE_AUDITOR'].includes(role);
}
