import slow_dependency  # noqa: F401


def handler(event, context):
    return "profiled"
