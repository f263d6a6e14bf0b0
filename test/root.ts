import { fileURLToPath } from 'node:url';

/** The project root, from dist/test/ where the compiled tests run. */
export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
