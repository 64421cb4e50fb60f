"""Why tenancy refuses a caller: no organisation, the wrong role, not an operator."""

from domain.errors import Forbidden


class NoOrganisation(Forbidden):
    """The caller belongs to no organisation, so no tenant's data is theirs."""

    code = "no-organisation"
    title = "You do not belong to an organisation"


class RoleRequired(Forbidden):
    """The caller's roles (maker, approver) do not allow this action."""

    code = "role-required"
    title = "Your role does not allow this"


class OperatorRequired(Forbidden):
    """The control or view acts on what every organisation shares."""

    code = "operator-required"
    title = "Only an operator may do this"
