import { killScenario } from '../kill.js';

export const scenario = killScenario('eos-kill', 10, 'exactly_once');
