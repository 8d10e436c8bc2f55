"""Errors raised by domain rules."""


class DomainError(ValueError):
    """A value or a transition broke a domain rule."""


class InvalidValue(DomainError):
    """A value is malformed: NaN, infinite, negative, of the wrong precision or shape."""


class InvalidOrderTransition(DomainError):
    """An order event arrived that the order's current status does not allow."""
