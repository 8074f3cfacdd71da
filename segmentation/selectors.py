"""Read queries of the segmentation app."""

from .models import Framework, FrameworkStatus


class NoActiveFrameworkError(LookupError):
    """No framework version is approved, so there is nothing to score accounts against."""


def framework_get_active() -> Framework:
    """Return the approved framework; raise NoActiveFrameworkError when there is none."""
    framework = Framework.objects.filter(status=FrameworkStatus.APPROVED).first()
    if framework is None:
        raise NoActiveFrameworkError(
            "No framework version is approved: approve one in the admin under "
            "Segmentation > Frameworks, or pass a framework explicitly."
        )
    return framework
