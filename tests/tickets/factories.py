from factory.declarations import Sequence, SubFactory
from factory.django import DjangoModelFactory

from tickets.models import Message, Ticket


class TicketFactory(DjangoModelFactory[Ticket]):
    class Meta:
        model = Ticket

    kind = "complaint"
    topic = "withdrawal"
    subject = "Withdrawal not received"
    description = "I withdrew 500 yuan three days ago."
    email = Sequence(lambda n: f"customer{n}@example.com")
    name = "Li Wei"
    language = "en"


class MessageFactory(DjangoModelFactory[Message]):
    class Meta:
        model = Message

    ticket = SubFactory(TicketFactory)
    author_type = Message.Author.STAFF
    body = "We are looking into it."
