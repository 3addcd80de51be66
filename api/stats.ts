/** GET /stats on Vercel: vercel.json rewrites /stats here (handlers/vercel.ts). */
import { vercelRoute } from '../handlers/vercel.js';

export default vercelRoute('/stats');
