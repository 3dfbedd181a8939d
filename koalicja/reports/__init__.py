"""The funder's report (Sprawozdanie): a coalition's allies, events and announcements over a period."""
