// Generated from package.json by scripts/build/version.mjs; do not edit.
/** Version of this package, reported as the instrumentation scope version. */
export const VERSION = '0.1.0';
export const PACKAGE_NAME = 'pulsar-keyscope';
