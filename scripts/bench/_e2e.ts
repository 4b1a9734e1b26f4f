import { main } from '../../src/cli/main.js';
process.exitCode = await main(['node', 'lowdose', ...process.argv.slice(2)]);
