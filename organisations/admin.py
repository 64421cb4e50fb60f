from django.contrib import admin

from organisations.models import Membership, Organisation

admin.site.register(Organisation)
admin.site.register(Membership)
