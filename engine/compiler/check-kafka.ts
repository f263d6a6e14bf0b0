import type { KafkaSection } from '../api/topology-graph.js';
import type { Pass } from './model.js';

/**
 * What `kafka.sasl` needs depends on its mechanism, which the schema leaves to this pass for a
 * message that says so: PLAIN and SCRAM take a username and a password, OAUTHBEARER a token file.
 * The schema registry takes one kind of credentials.
 */
export const checkKafka: Pass = {
  name: 'checkKafka',
  run(state, diagnostics) {
    const registry = (state.raw as { kafka?: KafkaSection }).kafka?.schemaRegistry;
    if (registry?.basicAuth !== undefined && registry.bearerToken !== undefined) diagnostics.error('/kafka/schemaRegistry/bearerToken', 'give basicAuth or bearerToken, not both: the registry takes one Authorization header');
    const sasl = (state.raw as { kafka?: KafkaSection }).kafka?.sasl;
    if (!sasl || typeof sasl !== 'object') return state;
    const at = '/kafka/sasl';
    if (sasl.mechanism === 'oauthbearer') {
      if (sasl.tokenFile === undefined) diagnostics.error(at, 'oauthbearer needs tokenFile: the file that holds the token');
      for (const f of ['username', 'password'] as const) if (sasl[f] !== undefined) diagnostics.error(`${at}/${f}`, `oauthbearer takes no ${f}; its token comes from tokenFile`);
    } else if (typeof sasl.mechanism === 'string') {
      for (const f of ['username', 'password'] as const) if (sasl[f] === undefined) diagnostics.error(at, `${sasl.mechanism} needs a ${f}${f === 'password' ? ' (a ${VAR}, so that it is not in the file)' : ''}`);
      if (sasl.tokenFile !== undefined) diagnostics.error(`${at}/tokenFile`, `tokenFile is for oauthbearer; ${sasl.mechanism} takes a username and password`);
    }
    return state;
  },
};
