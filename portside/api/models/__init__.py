"""Typed models of every kind portside serves; ``Kind.from_dict(d)`` / ``obj.to_dict()`` convert."""

from .authorization import *  # noqa: F401,F403
from .authorization import __all__ as _authorization
from .autoscaling import *  # noqa: F401,F403
from .autoscaling import __all__ as _autoscaling
from .container import *  # noqa: F401,F403
from .container import __all__ as _container
from .core import *  # noqa: F401,F403
from .core import __all__ as _core
from .cronjob import *  # noqa: F401,F403
from .cronjob import __all__ as _cronjob
from .daemonset import *  # noqa: F401,F403
from .daemonset import __all__ as _daemonset
from .meta import *  # noqa: F401,F403
from .meta import __all__ as _meta
from .metrics import *  # noqa: F401,F403
from .metrics import __all__ as _metrics
from .networking import *  # noqa: F401,F403
from .networking import __all__ as _networking
from .placement import *  # noqa: F401,F403
from .placement import __all__ as _placement
from .pod import *  # noqa: F401,F403
from .pod import __all__ as _pod
from .policy import *  # noqa: F401,F403
from .policy import __all__ as _policy
from .quota import *  # noqa: F401,F403
from .quota import __all__ as _quota
from .service import *  # noqa: F401,F403
from .service import __all__ as _service
from .statefulset import *  # noqa: F401,F403
from .statefulset import __all__ as _statefulset
from .storage import *  # noqa: F401,F403
from .storage import __all__ as _storage
from .volumes import *  # noqa: F401,F403
from .volumes import __all__ as _volumes
from .workloads import *  # noqa: F401,F403
from .workloads import __all__ as _workloads

__all__ = [*_meta, *_container, *_placement, *_volumes, *_pod, *_core, *_service, *_workloads, *_daemonset,
           *_cronjob, *_policy, *_autoscaling, *_metrics, *_storage, *_authorization, *_networking,
           *_statefulset, *_quota]
