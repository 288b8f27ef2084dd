// The password store's public face for cli.ts; the backends are internal (tests import the files directly).
// Open the best store this machine offers (keychain, else the file), with the environment read first.
export { openSecretStore } from './open.js';
