"""Does the shared-weight reward rank architectures like standalone training does?
(`enas-arch rank`, issue 12.)"""
