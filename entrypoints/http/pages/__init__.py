"""Server-rendered pages: the ones emails link to, sign-in and sign-up, and the account console."""
