"""What every app's domain code shares: the kinds of refusal a service raises.

No Django app (no models, no URLs) and no imports of the project: every app may
import it, and the REST layer (api/problems.py) maps it. See
docs/adr/0012-error-homes.md.
"""
