// The package's public entry: the feature-definition API that feature repos import.
export * from './schema/index.js';
