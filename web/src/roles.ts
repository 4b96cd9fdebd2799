// What the acting role may do, as doc/roles.md states it. The server decides
// in the end; this only keeps buttons away from users who may not use them.
import type { FormDef } from './types';

const SITE_ROLES = ['investigator', 'coordinator'];
const QUERY_ROLES = ['monitor', 'data_manager', 'medical_monitor'];
const CONTROL_ROLES = ['data_manager', 'study_admin'];

export const ROLE_NAMES: Record<string, string> = {
  investigator: 'Investigator',
  coordinator: 'Study coordinator',
  monitor: 'Monitor (CRA)',
  data_manager: 'Data manager',
  medical_monitor: 'Medical monitor',
  safety_physician: 'Safety physician',
  sponsor_viewer: 'Sponsor viewer',
  unblinded_pharmacist: 'Unblinded pharmacist',
  study_admin: 'Study administrator',
  system_admin: 'System administrator',
};

export const ALL_ROLES = Object.keys(ROLE_NAMES);

export const can = {
  manageSubjects: (role: string) => SITE_ROLES.includes(role),
  inactivate: (role: string) => SITE_ROLES.includes(role) || role === 'data_manager',
  enterForm: (role: string, form: FormDef) => (form.roles.length ? form.roles.includes(role) : SITE_ROLES.includes(role)),
  removeRow: (role: string) => SITE_ROLES.includes(role),
  raiseQuery: (role: string) => QUERY_ROLES.includes(role),
  answerQuery: (role: string) => SITE_ROLES.includes(role) || role === 'unblinded_pharmacist',
  closeQuery: (role: string) => QUERY_ROLES.includes(role),
  verify: (role: string) => role === 'monitor',
  // Not site staff: which subjects the SDV sample holds is kept from the sites.
  seeSdvProgress: (role: string) => [...QUERY_ROLES, 'study_admin', 'sponsor_viewer'].includes(role),
  control: (role: string) => CONTROL_ROLES.includes(role),
  // The safety inbox: those who follow cases, not the sites that report them.
  seeSafety: (role: string) => ['safety_physician', 'medical_monitor', 'data_manager', 'sponsor_viewer'].includes(role),
  sign: (role: string) => role === 'investigator',
  administer: (role: string) => role === 'study_admin' || role === 'system_admin',
  createAccounts: (role: string) => role === 'system_admin',
};
