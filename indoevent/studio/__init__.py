"""Label Studio: the client (push, pull, status) over label-studio-sdk."""
