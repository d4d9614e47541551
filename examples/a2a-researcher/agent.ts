/** The researcher agent; it lives beside the `npm start` demo, which serves it too. */
export { card, default } from '../../src/cli/demo/researcher-agent.js';
