import { killScenario } from '../kill.js';

/** The same kills as eos-kill under at_least_once: nothing may be lost; duplicates are expected and counted. */
export const scenario = killScenario('alos-kill', 11, 'at_least_once');
