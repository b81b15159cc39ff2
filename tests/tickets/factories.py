import factory

from tickets.models import Message, Ticket


class TicketFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Ticket

    kind = "complaint"
    topic = "withdrawal"
    subject = "Withdrawal not received"
    description = "I withdrew 500 yuan three days ago."
    email = factory.Sequence(lambda n: f"customer{n}@example.com")
    name = "Li Wei"
    language = "en"


class MessageFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Message

    ticket = factory.SubFactory(TicketFactory)
    author_type = Message.Author.STAFF
    body = "We are looking into it."
