// The passkey buttons of the sign-in page and the account console.
