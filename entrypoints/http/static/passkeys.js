// The passkey buttons of the sign-in page and the account console. A WebAuthn ceremony needs a
// script; everything else on both pages works without one, so this only reveals what it can
// run, and leaves hidden what the browser cannot do.
"use strict";

const SAYS = {
  cancelled: "The passkey request was cancelled or took too long. Please try again.",
  excluded: "This device or security key already holds a passkey for your account.",
  unreachable: "We could not reach the service. Check your connection and try again.",
  unexpected: "Something went wrong. Please try again.",
  signInRefused:
    "That passkey was not accepted. It may have been removed from your account: " +
    "try another one, or sign in with your password.",
  disabled: "This account is deactivated. Ask an administrator if you think it should not be.",
  wrongPassword: "That password is not right.",
  passkeyRefused: "Your passkey could not be added. Please try again.",
  badName: "That name cannot be used: 1 to 100 characters, without control characters.",
  stale: "Your session has ended or this page is out of date. Please reload the page.",
};

// A refusal to put in words, and the form field it concerns, if any.
class Refusal extends Error {
  constructor(message, field = null) {
    super(message);
    this.field = field;
  }
}

function tooMany(response) {
  const seconds = response.headers.get("Retry-After");
  return seconds
    ? `Too many attempts. Please wait ${seconds} seconds and try again.`
    : "Too many attempts. Please wait a little and try again.";
}

// POSTs `body` as JSON; the answer's JSON, or a Refusal that `explain(status, code)` words.
async function postJson(url, body, explain, headers = {}) {
  let response;
  try {
    response = await fetch(url, {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "application/json", ...headers },
      body: JSON.stringify(body),
    });
  } catch {
    throw new Refusal(SAYS.unreachable);
  }
  const answer = await response.json().catch(() => ({}));
  if (response.ok) return answer;
  if (response.status === 429) throw new Refusal(tooMany(response));
  throw explain(response.status, answer.code) ?? new Refusal(SAYS.unexpected);
}

// What the browser's own refusals mean to the person: DOMException names from WebAuthn.
function fromBrowser(error) {
  if (error instanceof Refusal) return error;
  if (error?.name === "NotAllowedError" || error?.name === "AbortError") {
    return new Refusal(SAYS.cancelled);
  }
  if (error?.name === "InvalidStateError") return new Refusal(SAYS.excluded);
  return new Refusal(SAYS.unexpected);
}

function showError(element, message) {
  element.textContent = message;
  element.hidden = false;
}

function hideError(element) {
  element.textContent = "";
  element.hidden = true;
}

// --- the sign-in page ---------------------------------------------------------------------

function signInRefusal(status, code) {
  if (status === 401) return new Refusal(SAYS.signInRefused);
  if (status === 403 && code === "account_disabled") return new Refusal(SAYS.disabled);
  if (status === 403) return new Refusal(SAYS.stale);
  return null;
}

async function signInWithPasskey(returnTo) {
  const options = await postJson("/api/v1/auth/passkey/options", {}, () => null);
  const credential = await navigator.credentials.get({
    publicKey: PublicKeyCredential.parseRequestOptionsFromJSON(options.public_key),
  });
  const body = { challenge_id: options.challenge_id, credential: credential.toJSON() };
  return postJson("/login/passkey", { ...body, return_to: returnTo }, signInRefusal);
}

function setUpSignIn(section) {
  if (typeof window.PublicKeyCredential?.parseRequestOptionsFromJSON !== "function") return;
  const button = section.querySelector("button");
  const error = section.querySelector("[data-passkey-error]");
  button.addEventListener("click", async () => {
    hideError(error);
    button.disabled = true;
    try {
      const answer = await signInWithPasskey(section.dataset.returnTo);
      location.assign(answer.location);
    } catch (failure) {
      button.disabled = false;
      showError(error, fromBrowser(failure).message);
      button.focus();
    }
  });
  section.hidden = false;
}

// --- the account console ------------------------------------------------------------------

function addRefusal(status, code) {
  if (code === "invalid_current_password") {
    return new Refusal(SAYS.wrongPassword, "current_password");
  }
  if (code === "invalid_passkey") return new Refusal(SAYS.passkeyRefused);
  if (status === 422) return new Refusal(SAYS.badName, "name");
  if (status === 401 || status === 403) return new Refusal(SAYS.stale);
  return null;
}

async function addPasskey(form) {
  const field = (name) => form.elements.namedItem(name);
  const headers = { "X-CSRF-Token": field("csrf_token").value };
  const options = await postJson(
    "/account/passkeys/options",
    { current_password: field("current_password").value },
    addRefusal,
    headers,
  );
  const credential = await navigator.credentials.create({
    publicKey: PublicKeyCredential.parseCreationOptionsFromJSON(options.public_key),
  });
  const body = { challenge_id: options.challenge_id, credential: credential.toJSON() };
  const name = field("name").value.trim();
  return postJson("/account/passkeys", name ? { ...body, name } : body, addRefusal, headers);
}

function markField(form, error, fieldName) {
  for (const input of form.querySelectorAll("input:not([type=hidden])")) {
    if (input.name === fieldName) {
      input.setAttribute("aria-invalid", "true");
      input.setAttribute("aria-describedby", error.id);
    } else {
      input.removeAttribute("aria-invalid");
      input.removeAttribute("aria-describedby");
    }
  }
}

function setUpAddPasskey(form) {
  if (typeof window.PublicKeyCredential?.parseCreationOptionsFromJSON !== "function") return;
  const button = form.querySelector("button[type=submit]");
  const error = form.querySelector("[data-passkey-error]");
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    hideError(error);
    markField(form, error, null);
    button.disabled = true;
    try {
      const answer = await addPasskey(form);
      location.assign(answer.location);
    } catch (failure) {
      const refusal = fromBrowser(failure);
      button.disabled = false;
      showError(error, refusal.message);
      markField(form, error, refusal.field);
      const field = refusal.field && form.elements.namedItem(refusal.field);
      (field || button).focus();
    }
  });
  for (const note of document.querySelectorAll("[data-passkey-unsupported]")) note.hidden = true;
  form.hidden = false;
}

for (const section of document.querySelectorAll("[data-passkey-sign-in]")) setUpSignIn(section);
for (const form of document.querySelectorAll("[data-passkey-add]")) setUpAddPasskey(form);
