"""Critical-value notices (危急值) the clinic must acknowledge, and escalations of late work."""
