from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.views import APIView

from legalops.accounts.roles import Role, user_has_role


class IsIngest(BasePermission):
    message = "Only the log-ingest service account may write query logs."

    def has_permission(self, request: Request, view: APIView) -> bool:
        return user_has_role(request.user, Role.INGEST)
