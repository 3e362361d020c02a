// Starts the GOV.UK Frontend and MOJ Frontend components on the page (loaded as a module, after parsing).
import { initAll as initGovuk } from "../govuk/govuk-frontend.min.js";
import { initAll as initMoj } from "../moj/moj-frontend.min.js";

initGovuk();
initMoj();
