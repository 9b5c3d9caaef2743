// Renders /openapi.json with the vendored Swagger UI. A separate file, not an inline script,
// so that the page's Content-Security-Policy can forbid inline scripts and other hosts.
window.addEventListener("load", function () {
  window.ui = SwaggerUIBundle({
    // Relative to /docs, so that the page also works behind a path prefix.
    url: "openapi.json",
    dom_id: "#swagger-ui",
    deepLinking: true,
    // The default validator is a badge fetched from swagger.io: nothing leaves this service.
    validatorUrl: null,
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
  });
});
