// The work-queue API from the page: same origin, bearer token from this tab's session storage, errors as
// {error, message, details} turned into ApiError.

const TOKEN_KEY = "denials.token";

export class ApiError extends Error {
  constructor(status, code, message, details) {
    super(message);
    this.status = status;
    this.code = code;
    this.details = details;
  }
}

export const token = {
  get: () => sessionStorage.getItem(TOKEN_KEY),
  set: (value) => sessionStorage.setItem(TOKEN_KEY, value),
  clear: () => sessionStorage.removeItem(TOKEN_KEY),
};

async function request(method, path, { body, params, accept = "application/json" } = {}) {
  const url = new URL(path, window.location.origin);
  for (const [key, value] of Object.entries(params || {})) {
    if (value !== undefined && value !== null && value !== "") url.searchParams.set(key, value);
  }
  const headers = { Accept: accept };
  const current = token.get();
  if (current) headers.Authorization = `Bearer ${current}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let response;
  try {
    response = await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body),
                                  cache: "no-store", credentials: "omit" });
  } catch (err) {
    throw new ApiError(0, "network", "The service cannot be reached. Check the connection and try again.");
  }
  if (!response.ok) {
    let data = {};
    try { data = await response.json(); } catch (err) { /* not JSON: keep the status */ }
    throw new ApiError(response.status, data.error || `http_${response.status}`,
                       data.message || response.statusText || "the request failed", data.details);
  }
  return response;
}

async function json(method, path, options) {
  const response = await request(method, path, options);
  return response.status === 204 ? null : response.json();
}

// A file the API sends (CSV, PDF): its bytes, the name the server gave it, and the response headers.
async function download(path, params, accept) {
  const response = await request("GET", path, { params, accept });
  const disposition = response.headers.get("Content-Disposition") || "";
  const name = (disposition.match(/filename="([^"]+)"/) || [])[1] || "download";
  return { blob: await response.blob(), filename: name, headers: response.headers };
}

export const api = {
  me: () => json("GET", "/api/me"),
  facets: () => json("GET", "/api/worklist/facets"),
  kpis: (params) => json("GET", "/api/kpis", { params }),
  checkOutcomes: () => json("GET", "/api/check/outcomes"),
  checkCsv: () => download("/api/check/outcomes", { format: "csv" }, "text/csv"),
  worklist: (params) => json("GET", "/api/worklist", { params }),
  worklistCsv: (params) => download("/api/worklist", { ...params, format: "csv" }, "text/csv"),
  kpisCsv: (params, table) => download("/api/kpis", { ...params, format: "csv", table }, "text/csv"),
  next: (queue) => json("POST", `/api/queues/${encodeURIComponent(queue)}/next`),
  task: (id) => json("GET", `/api/tasks/${encodeURIComponent(id)}`),
  decisions: (id) => json("GET", `/api/tasks/${encodeURIComponent(id)}/decisions`),
  audit: (id) => json("GET", `/api/tasks/${encodeURIComponent(id)}/audit`),
  update: (id, body) => json("PATCH", `/api/tasks/${encodeURIComponent(id)}`, { body }),
  letterText: async (id) => (await request("GET", `/api/tasks/${encodeURIComponent(id)}/letter`,
                                           { params: { format: "md" }, accept: "text/markdown" })).text(),
  letterPdf: async (id) => (await request("GET", `/api/tasks/${encodeURIComponent(id)}/letter`,
                                          { params: { format: "pdf" }, accept: "application/pdf" })).blob(),
};
