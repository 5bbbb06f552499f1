export * from './environment-runtime.js';
export * from './local/local-runtime.js';
export * from './quantity.js';
export * from './kubernetes/kubernetes-runtime.js';
