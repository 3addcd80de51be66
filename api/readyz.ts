/** GET /readyz on Vercel: vercel.json rewrites /readyz here (handlers/vercel.ts). */
import { vercelRoute } from '../handlers/vercel.js';

export default vercelRoute('/readyz');
