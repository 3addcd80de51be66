/** GET /healthz on Vercel: vercel.json rewrites /healthz here (handlers/vercel.ts). */
import { vercelRoute } from '../handlers/vercel.js';

export default vercelRoute('/healthz');
