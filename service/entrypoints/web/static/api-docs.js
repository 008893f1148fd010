// The API page (/api/docs): Swagger UI (vendored, served from this origin) renders /api/openapi.json, which needs no
// token. To send requests from the page, choose "Authorize" and paste a token from `denials tokens create`; it is
// kept in this page's memory only.

window.ui = window.SwaggerUIBundle({
  url: "/api/openapi.json",
  dom_id: "#api-docs",
  deepLinking: true,
  validatorUrl: null, // the default sends the document to an online validator: nothing leaves this origin
  persistAuthorization: false,
  tryItOutEnabled: false,
  docExpansion: "list",
  defaultModelsExpandDepth: 0,
  presets: [window.SwaggerUIBundle.presets.apis],
  layout: "BaseLayout",
});
