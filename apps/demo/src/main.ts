import '@coffer/elements';
import './app-shell.js';
