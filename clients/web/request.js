// request.js - which steps a user may take on a 第13.2 investigation
// request: a copy of the table in csirtd/request.c (rq_table), of the
// INVESTIGATING-only rows of csirtd/lifecycle.c and of the role masks of
// csirtd/rpc.c, used only to decide which buttons to show.  The daemon
// decides for real (request_check(), lc_check_actor(), the division check
// of the writer): a button shown by mistake ends in a sentence, never in a
// change.

const REPORTER = 'ROLE_REPORTER';
const LEAD = 'ROLE_CSIRT_LEAD';
const INV = 'ROLE_INVESTIGATOR';
const CSIRT = [LEAD, INV];

const OPEN = 'REQUEST_STATE_OPEN';
const ACK = 'REQUEST_STATE_ACKNOWLEDGED';
const RESPONDED = 'REQUEST_STATE_RESPONDED';

export const KINDS = ['REQUEST_KIND_SUMMONS', 'REQUEST_KIND_MATERIAL', 'REQUEST_KIND_DEVICE'];

// The states in which a request still asks something of someone.
export const LIVE = [OPEN, ACK, RESPONDED];

// name: the UI step; rpc: the CaseService method; text: the request's
// `text` is required (a response, a cancellation's reason) or optional (a
// comment); when: [states, roles].
export const requestActions = [
  { name: 'acknowledge', rpc: 'AcknowledgeRequest', text: 'optional', when: [[[OPEN], [REPORTER]]] },
  { name: 'respond', rpc: 'RespondToRequest', text: 'required', when: [[[ACK, RESPONDED], [REPORTER]]] },
  { name: 'fulfil', rpc: 'FulfilRequest', text: 'optional', when: [[[ACK, RESPONDED], CSIRT]] },
  { name: 'cancel', rpc: 'CancelRequest', text: 'required', when: [[[OPEN, ACK, RESPONDED], CSIRT]] },
];

// "CSIRT" in request.c: the lead, or an investigator assigned to the case.
// `assignees` is null when the case is not at hand (a list of requests):
// an investigator is then offered nothing and acts from the case page.
function actsFor(me, assignees) {
  if (me.role !== INV) return true;
  return Array.isArray(assignees) && assignees.includes(me.login);
}

// The steps `me` may take on request `q` (caseState: the case's state, or
// null when unknown: requests change only while INVESTIGATING).
export function allowedRequestActions(me, q, caseState, assignees) {
  if (caseState && caseState !== 'CASE_STATE_INVESTIGATING') return [];
  return requestActions.filter((a) => a.when.some(([states, roles]) =>
    states.includes(q.state) && roles.includes(me.role)) && actsFor(me, assignees));
}

// Whether `me` may create a request on case `c` (lifecycle.c: the lead or
// an assigned investigator, only while INVESTIGATING).
export function mayCreateRequest(me, c) {
  return c.state === 'CASE_STATE_INVESTIGATING' && CSIRT.includes(me.role) &&
    actsFor(me, c.assignees || []);
}
