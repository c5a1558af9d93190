// Single sign-on comes back here with a code; trade it for tokens, then go where the user was.

import { finishSso, say, showError } from "./console.js";

say("Finishing the sign-in…");
finishSso()
  .then((returnTo) => window.location.replace(returnTo))
  .catch((err) => { say(""); showError(`${err.message} `); });
