// The console's home: what the signed-in role may use.

import { $, boot } from "./console.js";

boot(async (me) => {
  $("#welcome").textContent = `Signed in as ${me.full_name || me.email} (${me.role}): ${me.role_allows}.`;
});
