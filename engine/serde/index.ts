export { serdeFor } from './serdes.js';
export { SerdeError } from './serde-error.js';
