"""Accounts: sign-in and sessions (`routes`), tokens and their checks (`tokens`), the lock after
failed attempts (`lockout`), password hashing (`passwords`) and the `admin_required` guard (`guard`)."""
