// Boots Swagger UI on the element that names the OpenAPI document; no third-party validator is called.
(function () {
  "use strict";
  var root = document.getElementById("swagger-ui");
  window.SwaggerUIBundle({
    url: root.getAttribute("data-openapi-url"),
    domNode: root,
    deepLinking: false, // a deep link puts a link inside each operation's button (axe: nested-interactive)
    validatorUrl: null,
    presets: [window.SwaggerUIBundle.presets.apis],
    layout: "BaseLayout"
  });
}());
