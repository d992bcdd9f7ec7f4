"""The workspace store: the only code that touches the database.

``Store`` combines the core (connection, migrations, transactions, audit log) with one mixin per
area of the chain.
"""

from kleroterion.store.addresses import AddressStore
from kleroterion.store.audit import AuditStore
from kleroterion.store.contacts import ContactStore
from kleroterion.store.core import StoreCore, migration_scripts
from kleroterion.store.deliberation import DeliberationStore
from kleroterion.store.privacy import PrivacyStore
from kleroterion.store.registry import RegistryStore
from kleroterion.store.reports import ReportStore
from kleroterion.store.signup import SignupStore
from kleroterion.store.sortition import SortitionStore


class Store(
    RegistryStore,
    SortitionStore,
    DeliberationStore,
    ReportStore,
    PrivacyStore,
    AddressStore,
    ContactStore,
    SignupStore,
    AuditStore,
):
    """A workspace database with every area's methods."""


__all__ = ["Store", "StoreCore", "migration_scripts"]
