/** GET /ice-servers on Vercel: vercel.json rewrites /ice-servers here (handlers/vercel.ts). */
import { vercelRoute } from '../handlers/vercel.js';

export default vercelRoute('/ice-servers');
