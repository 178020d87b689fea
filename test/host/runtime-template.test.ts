// The template runtime keeps the contract of every runtime; so does the host runtime. A new
// runtime copies this file (and fixtures/_template-runtime) and runs its own runtime through it.
import { templateRuntime } from '../../modes/_template/runtime.js';
import { hostRuntime } from '../../modes/host/runtime.js';
import { runtimeContract } from '../helpers/runtimeContract.js';

runtimeContract(templateRuntime, '_template-runtime');
runtimeContract(hostRuntime, '_template-runtime');
