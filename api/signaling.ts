/** GET /signaling.json on Vercel: where the demo page finds signaling (SIGNALING_URL; handlers/vercel.ts). */
import { SIGNALING_CONFIG_PATH, vercelRoute } from '../handlers/vercel.js';

export default vercelRoute(SIGNALING_CONFIG_PATH);
